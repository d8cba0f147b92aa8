#!/usr/bin/env python3
# Code bytes of a Go wasm module by package, from its code and name sections (go tool nm
# cannot read wasm). Usage: python3 scripts/wasm-size.py plugin.wasm [top N]
# wasm-opt drops the name section: measure a module built with `make build WASMOPT_FLAGS=`.
import sys, collections
data=open(sys.argv[1],'rb').read()
def leb(b,i):
    r=0;s=0
    while True:
        x=b[i];i+=1;r|=(x&0x7f)<<s;s+=7
        if x<0x80: return r,i
i=8; sections=[]
nimports=0; bodies=[]; names={}
while i<len(data):
    sid=data[i]; i+=1; n,i=leb(data,i); start=i; end=i+n
    if sid==2:
        j=start; cnt,j=leb(data,j)
        for _ in range(cnt):
            l,j=leb(data,j); j+=l; l,j=leb(data,j); j+=l; kind=data[j]; j+=1
            if kind==0: _,j=leb(data,j); nimports+=1
            elif kind==1: j+=1; fl=data[j]; j+=1; _,j=leb(data,j); 
            elif kind==2: fl=data[j]; j+=1; _,j=leb(data,j); 
            elif kind==3: j+=2
    if sid==10:
        j=start; cnt,j=leb(data,j)
        for _ in range(cnt):
            sz,j=leb(data,j); bodies.append(sz); j+=sz
    if sid==0:
        l,j=leb(data,start); nm=data[j:j+l]; j+=l
        sections.append(('custom:'+nm.decode(),n))
        if nm==b'name':
            while j<end:
                sub=data[j]; j+=1; sl,j=leb(data,j); se=j+sl
                if sub==1:
                    cnt,k=leb(data,j)
                    for _ in range(cnt):
                        idx,k=leb(data,k); l,k=leb(data,k); names[idx]=data[k:k+l].decode('utf8','replace'); k+=l
                j=se
    else: sections.append((sid,n))
    i=end
print('sections:',sections)
by=collections.Counter()
for fi,sz in enumerate(bodies):
    nm=names.get(fi+nimports,'?')
    # package path: up to the first '.' after the last '/'
    slash=nm.rfind('/'); dot=nm.find('.',slash+1)
    pkg=nm[:dot] if dot>0 else nm
    by[pkg]+=sz
tot=sum(bodies)
print('code bytes',tot)
for p,s in by.most_common(int(sys.argv[2]) if len(sys.argv)>2 else 30): print(f'{s:9d} {100*s/tot:5.1f}% {p}')
